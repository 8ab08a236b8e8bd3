# Multi-stage build: compile with the Rust toolchain, run on a small Debian
# image as a non-root user with the data directory on a volume.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /data cairn \
    && mkdir -p /data && chown cairn /data
COPY --from=build /src/target/release/cairn /usr/local/bin/cairn
USER cairn
VOLUME ["/data"]
EXPOSE 8090
ENTRYPOINT ["cairn"]
CMD ["serve", "--http", "0.0.0.0:8090", "--dir", "/data"]
