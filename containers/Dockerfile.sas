# XMM-Newton SAS base image for `reprocal image build --base`.
#
# Builds SAS from ESA's binary tarball, pinned by sha256. It deliberately has NO /ccf and no
# calibration files: `reprocal image build MANIFEST --base <this image>` adds exactly the pinned
# constituents on top (reprocal refuses a base that already has /ccf). See containers/README.md.
#
#   docker build -f containers/Dockerfile.sas \
#     --build-arg SAS_URL=https://sasdownloads.esac.esa.int/pub/sas/<version>/Linux/<os>/<tarball> \
#     --build-arg SAS_SHA256=<sha256 of that tarball> \
#     --build-arg SAS_VERSION=<version> \
#     -t xmmsas:<version> containers/
#
# Pin the OS image by digest too (BASE build-arg) for a repeatable build: the tarball pin
# guarantees the SAS bytes, the digest pin the OS bytes. apt packages are not pinned by
# Debian/Ubuntu mirrors; what the image holds is then pinned by the digest of the *built*
# image, which reprocal records in the calibration image's labels and build record.

ARG BASE=ubuntu:22.04
FROM ${BASE}

ARG SAS_URL
ARG SAS_SHA256
ARG SAS_VERSION=unknown

# Runtime libraries SAS's binaries and scripts use (Perl scripts, Python tasks, X11 libraries for
# tasks that link them, gfortran runtime). Check ESA's installation page for your SAS version.
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl tar gzip perl python3 python3-pip python3-venv \
        libgfortran5 libx11-6 libxext6 libxft2 libxpm4 libxt6 libglu1-mesa \
        libreadline8 libncurses6 libpng16-16 libjpeg-turbo8; \
    rm -rf /var/lib/apt/lists/*

# Download the tarball, refuse it unless its sha256 is the pinned one, install, clean up.
WORKDIR /opt/sas
RUN set -eu; \
    if [ -z "${SAS_URL:-}" ] || [ -z "${SAS_SHA256:-}" ]; then \
        echo "give --build-arg SAS_URL=<ESA tarball URL> and --build-arg SAS_SHA256=<its sha256>" >&2; \
        exit 2; \
    fi; \
    curl -fsSL --retry 3 -o /tmp/sas.tgz "${SAS_URL}"; \
    echo "${SAS_SHA256}  /tmp/sas.tgz" | sha256sum -c -; \
    tar -xzf /tmp/sas.tgz -C /opt/sas; \
    rm /tmp/sas.tgz; \
    ./install.sh; \
    test -f /opt/sas/xmmsas_*/setsas.sh; \
    ln -s /opt/sas/xmmsas_* /opt/sas/current; \
    echo "${SAS_URL}  ${SAS_SHA256}" > /opt/sas/TARBALL.sha256

# SAS is initialised by setsas.sh at container start; SAS_CCFPATH/SAS_CCF/SAS_ODF given by the
# image (reprocal sets SAS_CCFPATH=/ccf, SAS_CCF=/ccf/ccf.cif) or by `docker run -e` are kept.
COPY sas-entrypoint.sh /usr/local/bin/sas-entrypoint
RUN chmod 0755 /usr/local/bin/sas-entrypoint

ENV SAS_DIR=/opt/sas/current \
    SAS_VERBOSITY=4
LABEL org.opencontainers.image.title="XMM-Newton SAS (no calibration)" \
      org.reprocal.sas.version="${SAS_VERSION}" \
      org.reprocal.sas.tarball-url="${SAS_URL}" \
      org.reprocal.sas.tarball-sha256="${SAS_SHA256}"
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/sas-entrypoint"]
CMD ["bash"]
