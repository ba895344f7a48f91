#!/usr/bin/env bash
# Build .gpu/site.tgz: dsei's runtime dependencies as Python 3.12 (cp312) packages for a GPU machine that has
# torch, e3nn, torch-geometric, numpy, scipy, pandas, scikit-learn, typer and rich but no network (this
# workplace's lent H100/H200, whose image is Python 3.12). Unpacked there into /tmp/site and put on PYTHONPATH:
#
#   bash scripts/gpu_site.sh                     # here, with network; writes .gpu/site.tgz (~59 MB)
#   # on the GPU machine, with .gpu carried:
#   mkdir -p /tmp/site && tar xzf .gpu/site.tgz -C /tmp/site && export PYTHONPATH=/tmp/site:$PWD/src
#   python3 benchmarks/gpu_check.py --out $OUT --dev .gpu/mp_binary_elasticity_dev.json.gz ...
#
# Versions are the ones the GPU check of docs/benchmarks.md ("Models on a GPU") ran with. Unused weights
# (SevenNet-0 22May2024, CHGNet 0.2.0), sevenn's LAMMPS/D3 sources, ASE's tests and GUI and plotly's
# bundled JavaScript are left out so that the carried tree stays under the 64 MiB a call may take (with the
# repository and the two dev-set files: ~65 of 67 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .git/info
for d in /.whl/ /.site/ /.gpu/; do grep -qx "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
rm -rf .whl .site && mkdir -p .whl .site .gpu
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    ase==3.29.0 braceexpand==0.1.7 chgnet==0.4.2 lazy-importer==0.1.0 matscipy==1.3.1 monty==2026.10.21 \
    orjson==3.13.0 palettable==3.3.3 plotly==7.1.0 pydantic==2.14.4 pydantic_core==2.50.5 \
    pymatgen==2026.10.24 pymatgen-core==2026.10.16 ruamel.yaml==0.19.1 sevenn==0.13.0 spglib==2.8.0 \
    typing-inspection==0.4.5 uncertainties==3.2.3 annotated-types==0.8.0 torch-dftd==0.5.3
# source-only on PyPI, pure Python: build the wheels here
python3 -m pip wheel -q --no-deps -w .whl bibtexparser==1.4.4 nvidia-ml-py3==7.352.0
for w in .whl/*.whl; do unzip -q -o "$w" -d .site; done
rm -rf .site/sevenn/pretrained_potentials/SevenNet_0__22May2024 .site/chgnet/pretrained/0.2.0 \
    .site/sevenn/pair_d3.so .site/sevenn/pair_d3_batch.so .site/sevenn/pair_e3gnn .site/ase/test .site/ase/gui \
    .site/plotly/package_data/plotly.min.js .site/plotly/package_data/datasets .site/plotly/labextension
find .site -name __pycache__ -prune -exec rm -rf {} +
tar czf .gpu/site.tgz -C .site .
ls -l .gpu/site.tgz
