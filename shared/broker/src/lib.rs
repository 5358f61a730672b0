//! RabbitMQ plumbing: topology, confirmed publishing and the consumer loop. The only crate that imports lapin.
