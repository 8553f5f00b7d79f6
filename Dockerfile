# Sluice gateway image: `docker build -t sluice:0.1.0 .` then
#   docker run -p 8080:8080 -v $PWD/sluice.json:/etc/sluice/config/sluice.json:ro sluice:0.1.0
# Kubernetes manifests: deploy/k8s/ (docs/operations.md#high-availability).

# ---- build: the same Maven command as ./sluice, producing sluice-app/target/sluice.jar (shaded, Main-Class set)
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# The poms first, so the dependency download is cached while only sources change. Every module of the parent pom
# must be present for the reactor to resolve, even the one not built (sluice-bench).
COPY pom.xml ./
COPY sluice-app/pom.xml sluice-app/
COPY sluice-bench/pom.xml sluice-bench/
RUN mvn -B -q -pl sluice-app -am dependency:go-offline
COPY sluice-app/src sluice-app/src
RUN mvn -B -q -Dstyle.color=never -pl sluice-app -am package -DskipTests

# ---- runtime: a JRE only, no build tools, no shell needed by Sluice itself
FROM eclipse-temurin:17-jre
# A fixed non-root uid/gid (Kubernetes' runAsUser in deploy/k8s/deployment.yaml matches it).
RUN groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid sluice --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
 && mkdir -p /opt/sluice /etc/sluice/config /var/lib/sluice \
 && chown sluice:sluice /var/lib/sluice
COPY --from=build /src/sluice-app/target/sluice.jar /opt/sluice/sluice.jar
COPY examples/cluster.json /etc/sluice/config/sluice.example.json
USER 10001:10001
# Working directory = state directory (etcd's last-known-good config with --state-dir, Vert.x's file cache).
WORKDIR /var/lib/sluice
# 8080: the API (server.port); 9090: the admin plane when "admin": {"port": 9090} is set.
EXPOSE 8080 9090
# Ready = a node in rotation. curl is part of the eclipse-temurin images. Port and scheme of server.port/server.tls:
# change the URL when your config differs (Kubernetes ignores HEALTHCHECK and uses its own probes).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
# Heap from the container's memory limit; SIGTERM (docker stop) closes the listener and lets requests finish:
# use `docker stop -t 120` for long streams.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75"
ENTRYPOINT ["java", "-jar", "/opt/sluice/sluice.jar"]
CMD ["serve", "--config", "/etc/sluice/config/sluice.json"]
