"""Builds conceptree._conceptree with the project's CMake build and packages python/conceptree.

CONCEPTREE_BUILD_DIR picks the CMake build folder (default build/python-package; an existing
configured build, e.g. build/, is reused as it is and only the module target is built)."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def project_version():
    match = re.search(r"project\(conceptree VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    return match.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(os.environ.get("CONCEPTREE_BUILD_DIR", ROOT / "build" / "python-package")).resolve()
        if not (build_dir / "CMakeCache.txt").exists():
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                            "-DCONCEPTREE_TESTS=OFF", f"-DPython_EXECUTABLE={sys.executable}"], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_conceptree"], check=True)
        built = next((build_dir / "python" / "conceptree").glob("_conceptree*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    version=project_version(),
    packages=["conceptree"],
    package_dir={"": "python"},
    package_data={"conceptree": ["py.typed", "*.pyi"]},
    ext_modules=[Extension("conceptree._conceptree", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
