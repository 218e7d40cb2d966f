# perfhub in a container, for load tests run as Kubernetes Jobs (docs/load.md)
# or as a target (`perfhub serve --bind 0.0.0.0`).
#
#   docker build -t your-registry/perfhub .
#   docker run --rm your-registry/perfhub load http://service:8080/ --rate 1000 -d 30s
#
# The build stage compiles the release binary; the final image holds only it,
# CA certificates for https:// targets, and an unprivileged user.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p perfhub-cli --bin perfhub \
    && cp target/release/perfhub /perfhub

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /perfhub /usr/local/bin/perfhub
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["perfhub"]
CMD ["--help"]
