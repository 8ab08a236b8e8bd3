// A helper module imported by counter.js (plugins/lib/ is not a plugin).
export const greet = (name) => `hello ${name}`;
let imported = 0;
export function bump() {
  return ++imported;
}
