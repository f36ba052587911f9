# The appliance image: one binary, its plugins and share/appliance on Debian 12 (bookworm).
#   make image        (Docker when a daemon answers, else buildah; see scripts/image.sh)
#   make image-test   (--version, --list-plugins, --check-config --env=prod inside the image)
# Pods choose what to run: `appliance --role=api --env=prod` (no default role here).
#
# Targets: `runtime` (default, last): distroless cc-debian12 plus the shared libraries the
# binary and plugins need, copied from the build stage. `runtime-slim`: bookworm-slim with the
# same libraries from apt, kept to measure against (README.md, "Container image").
ARG BUILD_IMAGE=debian:bookworm
ARG SLIM_IMAGE=debian:bookworm-slim
ARG DISTROLESS_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
ARG JOBS=2
ARG REVISION=unknown
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake make g++ pkg-config ca-certificates \
      libpoco-dev libyaml-cpp-dev prometheus-cpp-dev libboost-dev libboost-filesystem-dev libre2-dev \
      libpq-dev libsqlite3-dev zlib1g-dev libssl-dev googletest libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Compile, run the unit tests (integration and e2e need PostgreSQL and Prometheus: make test),
# install stripped.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DAPPLIANCE_BUILD_BENCH=OFF \
      -DAPPLIANCE_REVISION="${REVISION}" -DCMAKE_INSTALL_PREFIX=/usr/local \
 && cmake --build /build -j"${JOBS}" \
 && ctest --test-dir /build -L unit -j"${JOBS}" --output-on-failure \
 && DESTDIR=/stage cmake --install /build --strip
# /out/app: only what runs (binary, SDK library, plugins, share/appliance).
# /out/libs: the binary's and plugins' shared libraries that distroless cc-debian12 lacks
# (it has libc6, libgcc-s1, libstdc++6, libssl3), with their copyright files.
RUN set -eu; \
    mkdir -p /out/app/bin /out/app/lib /out/libs/usr/lib/x86_64-linux-gnu /out/data; \
    cp -a /stage/usr/local/bin/appliance /out/app/bin/; \
    cp -a /stage/usr/local/lib/libappliance_sdk.so.* /out/app/lib/; \
    cp -a /stage/usr/local/lib/appliance /out/app/lib/; \
    mkdir -p /out/app/share; cp -a /stage/usr/local/share/appliance /out/app/share/; \
    ldd /out/app/bin/appliance /out/app/lib/appliance/*.so /out/app/lib/appliance/plugins/*.so \
      | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v '^/out/' | sort -u > /tmp/libs; \
    while read -r lib; do \
      pkg=""; \
      for p in "$lib" "/usr$lib" "${lib#/usr}"; do \
        pkg="$(dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1)"; [ -z "$pkg" ] || break; \
      done; \
      [ -n "$pkg" ] || { echo "no Debian package owns $lib" >&2; exit 1; }; \
      case "$pkg" in libc6|libgcc-s1|libstdc++6|libssl3) continue ;; esac; \
      cp -L "$lib" /out/libs/usr/lib/x86_64-linux-gnu/; \
      mkdir -p "/out/libs/usr/share/doc/$pkg"; \
      cp "/usr/share/doc/$pkg/copyright" "/out/libs/usr/share/doc/$pkg/" 2>/dev/null || true; \
    done < /tmp/libs; \
    ls /out/libs/usr/lib/x86_64-linux-gnu > /out/libs.txt

# ---------------------------------------------------------------------------------------------
FROM ${SLIM_IMAGE} AS runtime-slim
ARG VERSION=0.2.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="appliance" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
      libpocofoundation80 libpoconet80 libpocojson80 libpocojwt80 libpococrypto80 \
      libyaml-cpp0.7 libprometheus-cpp-core1.0 libboost-filesystem1.74.0 libpq5 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
COPY --from=build /out/app/ /usr/local/
COPY --from=build --chown=65532:65532 /out/data/ /var/lib/appliance/
WORKDIR /var/lib/appliance
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/appliance"]

# ---------------------------------------------------------------------------------------------
FROM ${DISTROLESS_IMAGE} AS runtime
ARG VERSION=0.2.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="appliance" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=build /out/libs/ /
COPY --from=build /out/app/ /usr/local/
COPY --from=build --chown=65532:65532 /out/data/ /var/lib/appliance/
WORKDIR /var/lib/appliance
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/appliance"]
