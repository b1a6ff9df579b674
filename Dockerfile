# racebench: loadgen and mock-server in one small image.
#
#   docker build -t racebench .
#   docker run --rm racebench mock-server --bind 0.0.0.0:8020
#   docker run --rm racebench loadgen json --url http://HOST:8020/json --duration 10s
#
# Stage 1 builds both binaries in release mode from the committed Cargo.lock; stage 2 copies
# them into a distroless base (glibc and CA certificates, no shell, no package manager) and runs
# them as an unprivileged user. deploy/kubernetes/ runs this image.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The image needs no debug lines: strip the binaries (the workspace keeps line tables for perf).
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=symbols
COPY . .
RUN cargo build --release --locked --bin loadgen --bin mock-server \
    && cp target/release/loadgen target/release/mock-server /usr/local/bin/

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /usr/local/bin/loadgen /usr/local/bin/mock-server /usr/local/bin/
# distroless's `nonroot`, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8020
ENTRYPOINT []
CMD ["loadgen", "--help"]
