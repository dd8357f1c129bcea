"""Everything is in pyproject.toml, except one file outside the package: stablecopy-warcio.pth."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "stablecopy-warcio.pth"  # makes warcio decode `br` with Google's brotli (archive/brotlicodec.py)


class BuildWithPth(build_py):
    """Puts the .pth file at the wheel's root, so it lands in site-packages."""

    def run(self) -> None:
        super().run()
        self.copy_file(PTH, str(Path(self.build_lib) / PTH))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH)]


setup(cmdclass={"build_py": BuildWithPth})
