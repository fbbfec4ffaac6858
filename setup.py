"""Map the top-level folders onto the ``tacmesh.*`` import namespace.

pyproject.toml holds the metadata; this file only lists the packages, because setuptools
cannot express "every sub-package of every top-level folder, under a prefix" declaratively.
A loop over ``find_packages`` keeps new sub-packages from being silently left out of the
wheel (an explicit list would still import in editable mode and hide the omission).
"""

from setuptools import find_packages, setup

TOP_LEVEL = ("protocol", "node", "gateway", "uav", "firmware_bridge", "sim")

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder in TOP_LEVEL:
    packages.append(f"tacmesh.{folder}")
    package_dir[f"tacmesh.{folder}"] = folder
    for sub in find_packages(folder):
        packages.append(f"tacmesh.{folder}.{sub}")
        package_dir[f"tacmesh.{folder}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir)
