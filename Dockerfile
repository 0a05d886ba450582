# One image for the collector (with the dashboard) and the sample services.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY instrumentation/package.json instrumentation/
COPY collector/package.json collector/
COPY dashboard/package.json dashboard/
COPY samples/package.json samples/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
EXPOSE 8080 4318
# Reachable from outside the container, so it starts only with ONCEFLOW_INGEST_TOKEN and
# ONCEFLOW_API_TOKEN set (or ONCEFLOW_INSECURE=1); the ingest log and DuckDB live in /app/.onceflow.
CMD ["collector/bin/onceflow.js", "serve", "--host", "0.0.0.0"]
