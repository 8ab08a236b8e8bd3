// Every dashboard page from the navigation, axe-checked in the light theme
// (the server and the crawl: dashboard_pages_fixtures.mjs).
import { axeCrawl } from './dashboard_pages_fixtures.mjs';

axeCrawl('light');
