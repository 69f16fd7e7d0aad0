"""Write scikit-learn's digits (1,797 8x8 grayscale scans, 10 classes) as an image folder of PNGs.

Run with the job environment's Python:
    "$(bash images/jobs/scripts/ensure-venv.sh)/bin/python" examples/digits/prepare-data.py
The data ships inside the scikit-learn wheel; nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def write_image_folder(out: Path) -> int:
    """One subfolder per digit, one PNG per scan (pixel values 0-16 scaled to 0-255)."""
    digits = load_digits()
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.clip(image * 255.0 / 16.0, 0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png")
    return len(digits.images)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "data" / "digits"
    count = write_image_folder(target)
    print(f"Wrote {count} digit images to {target}")
