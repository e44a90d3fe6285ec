# Paved's container image, for those who build with Docker or Podman. `make image` builds the same
# image without a container engine (deploy/cmd/mkimage); both put the static binary, CA
# certificates and a non-root user on an empty base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg REVISION=$(git rev-parse HEAD) -t paved .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/paved ./cmd/paved
# The user, and /data owned by it, for the empty final stage, which has no shell to make them.
RUN mkdir -p /out/rootfs/etc/ssl/certs /out/rootfs/data /out/rootfs/tmp \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\npaved:x:65532:65532:paved:/data:/sbin/nologin\n' >/out/rootfs/etc/passwd \
 && printf 'root:x:0:\npaved:x:65532:\n' >/out/rootfs/etc/group \
 && cp /etc/ssl/certs/ca-certificates.crt /out/rootfs/etc/ssl/certs/ca-certificates.crt \
 && chown 65532:65532 /out/rootfs/data && chmod 750 /out/rootfs/data && chmod 1777 /out/rootfs/tmp

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
ARG LICENSE=NOASSERTION
LABEL org.opencontainers.image.title="Paved" \
      org.opencontainers.image.description="Self-hosted portal for approved SaaS apps, committee votes and shadow-IT discovery" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/pavedhq/paved" \
      org.opencontainers.image.licenses="${LICENSE}"
COPY --from=build /out/rootfs/ /
COPY --from=build /out/paved /paved
ENV PATH=/ \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PAVED_DATA_DIR=/data \
    PAVED_LISTEN=0.0.0.0:8080
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s CMD ["/paved", "health"]
ENTRYPOINT ["/paved"]
CMD ["serve"]
