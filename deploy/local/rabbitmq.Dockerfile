# RabbitMQ from Debian's package, for a machine that can pull no image: a stand-in
# for rabbitmq:3.13-management built on a local base image (.ci/stack makes one
# with debootstrap). docker-compose.yml mounts the same configuration into it as
# into the official image; the package reads /etc/rabbitmq/conf.d/ too.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# As the official image: the management and Prometheus plugins on, guest allowed
# from other hosts (the tests reach it through a published port), logs on stdout.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/rabbitmq/conf.d \
 && rabbitmq-plugins --offline enable rabbitmq_management rabbitmq_prometheus \
 && printf 'loopback_users.guest = false\n' > /etc/rabbitmq/conf.d/10-defaults.conf
ENV RABBITMQ_LOGS=-
# The broker itself as the container's first process, as its own user, so that it
# hears `docker stop`'s SIGTERM and stops cleanly (the package's wrapper script
# would keep the signal from it); the diagnostics run as the same user.
USER rabbitmq
ENV HOME=/var/lib/rabbitmq
EXPOSE 5672 15672 15692
CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
