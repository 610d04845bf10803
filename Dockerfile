FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY domain domain
COPY projections projections
COPY api api
COPY workers workers
COPY infra infra
COPY system system
COPY cli cli
RUN pip install --no-cache-dir . && useradd --create-home arqium
USER arqium
EXPOSE 8000
CMD ["arqium", "serve", "--host", "0.0.0.0", "--port", "8000"]
