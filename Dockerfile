# The daemon in a container. The default command runs it on the embedded simulated broker;
# point it at IB Gateway with ALVH_BROKER=ib and ALVH_IB_HOST/ALVH_IB_PORT.
FROM python:3.11-slim

WORKDIR /opt/alvh
COPY pyproject.toml README.md ./
COPY daemon ./daemon
COPY config ./config
RUN pip install --no-cache-dir ".[ib]"

# The journal and the kill-switch file live here; mount a volume to keep them.
VOLUME ["/opt/alvh/var"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["alvh"]
CMD ["run", "--config", "config/sim.yaml"]
