"""The local cloud: moto server, emulators for what moto lacks, and a runner that executes the
functions as `template.yaml` wires them. See `local/README.md`."""
