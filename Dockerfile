# One image with the pipeline's programs (and triage-keys); compose.yaml runs each as its
# own service. Debian 12 and the same Debian packages as `make run` (scripts/deps.sh build).
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libnng-dev libmsgpack-dev libmicrohttpd-dev \
      libpq-dev libcurl4-openssl-dev libssl-dev libjansson-dev libcmocka-dev liblinear-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build /build -j"$(nproc)" \
      --target triage-store triage-gateway triage-enricher triage-keys

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      libnng1 libmsgpackc2 libmicrohttpd12 libpq5 libcurl4 libssl3 libjansson4 liblinear4 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd -r -u 10001 triage
COPY --from=build /build/bin/triage-store /build/bin/triage-gateway /build/bin/triage-enricher /build/bin/triage-keys /usr/local/bin/
COPY sql /usr/share/triage/sql
COPY web /usr/share/triage/web
COPY data/corpus/train /usr/share/triage/corpus
ENV TRIAGE_SQL_DIR=/usr/share/triage/sql TRIAGE_WEB_DIR=/usr/share/triage/web \
    TRIAGE_CORPUS_DIR=/usr/share/triage/corpus
USER triage
