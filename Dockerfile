# presignd container image: a static binary on distroless, running as nonroot.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t presignd:v1.2.3 .
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/config.yaml:/etc/presignd/config.yaml:ro" presignd:v1.2.3
#
# The config is read from /etc/presignd/config.yaml, mounted read-only (a ConfigMap in
# Kubernetes, see deploy/). Pin both base images by digest in your registry mirror.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/presignd ./cmd/presignd

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="presignd" \
      org.opencontainers.image.description="Hands out S3 pre-signed URLs to authenticated callers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/presignd /usr/local/bin/presignd
# 65532 is distroless's nonroot user; numeric so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/presignd", "serve", "--config", "/etc/presignd/config.yaml"]
