# syntax=docker/dockerfile:1
# ambient-guard container image: built on Debian bookworm, shipped as the binary, the shared
# libraries it links (found with ldd), and a non-root user. No shell, no package manager.
#
#   docker build -t REGISTRY/ambient-guard:TAG .
#   kustomize edit set image ambient-guard=REGISTRY/ambient-guard:TAG   (in your overlay)
#
# Pin both FROM lines by digest (debian:bookworm-slim@sha256:...) in a release pipeline.

FROM debian:bookworm-slim AS build
# scripts/setup.sh is the project's single list of build dependencies (it also installs the test
# libraries, which the runtime stage leaves behind).
COPY scripts/setup.sh /src/scripts/setup.sh
RUN /src/scripts/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . /src
WORKDIR /src
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=OFF -DAG_BUILD_BENCH=OFF \
 && cmake --build /build --target ambient-guard -j"$(nproc)" \
 && strip --strip-unneeded /build/ambient-guard
# Assemble the runtime filesystem in /rootfs:
#  - the binary, and every library ldd resolves (plus the dynamic loader, printed without "=>"),
#    copied with their directories, then smoke-tested by running it chrooted into /rootfs. The loader's built-in search path covers
#    /lib/x86_64-linux-gnu (or the arch's multiarch directory), so no ld.so.cache is needed;
#    glibc >= 2.34 has the files/dns NSS modules built in;
#  - /etc/passwd and /etc/group with the nonroot user (65532), as the Deployment runs it;
#  - the mount points: /etc/ambient-guard (config, tls/), /var/log/ambient-guard (audit), /tmp.
# OpenSSL runs without openssl.cnf (a missing default config is not an error) and needs no CA
# store: the API server's CA comes from the service account volume.
RUN set -eu; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/etc/ambient-guard \
             /rootfs/var/log/ambient-guard /rootfs/tmp; \
    cp /build/ambient-guard /rootfs/usr/local/bin/ambient-guard; \
    ldd /build/ambient-guard \
      | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' \
      | sort -u \
      | while read -r lib; do cp --parents -L "$lib" /rootfs; done; \
    chroot /rootfs /usr/local/bin/ambient-guard --help >/dev/null; \
    echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' > /rootfs/etc/passwd; \
    echo 'nonroot:x:65532:' > /rootfs/etc/group; \
    chown 65532:65532 /rootfs/var/log/ambient-guard; \
    chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs /
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/ambient-guard"]
CMD ["serve", "--listen", "0.0.0.0:8443", \
     "--cert", "/etc/ambient-guard/tls/tls.crt", "--key", "/etc/ambient-guard/tls/tls.key", \
     "--config", "/etc/ambient-guard/config.yaml"]
