"""The deployable artifact: built from template.yaml for its CPU and runtime, checked, run locally.

`build.py` lays out one folder per function and layer as `sam build` does (`make package`);
`check.py` reads every compiled file, imports every handler from the artifact alone and prints
sizes beside Lambda's limit (`make test`). `python -m local.artifact --help` has both.
"""
