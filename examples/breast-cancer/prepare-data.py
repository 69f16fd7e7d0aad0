"""Write scikit-learn's breast cancer data set (Wisconsin diagnostic, 569 patients, 30 measurements of
cell nuclei) as a CSV file shaped like the original UCI export: a patient id column first, the
measurements, and the diagnosis (malignant or benign) last.

Run with the job environment's Python:
    "$(bash images/jobs/scripts/ensure-venv.sh)/bin/python" examples/breast-cancer/prepare-data.py
The data ships inside the scikit-learn wheel; nothing is downloaded. The ids are made up (sequential
numbers; scikit-learn does not ship the original ones): the Data agent should find the column, flag it
as an identifier and leave it out.
"""
from __future__ import annotations

import csv
from pathlib import Path

from sklearn.datasets import load_breast_cancer


def write_csv(path: Path) -> int:
    """One row per patient: patient_id, the 30 measurements (as scikit-learn names them), diagnosis."""
    data = load_breast_cancer()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", *data.feature_names, "diagnosis"])
        for i, (row, target) in enumerate(zip(data.data, data.target)):
            writer.writerow([100001 + i, *(repr(float(v)) for v in row), data.target_names[target]])
    return len(data.data)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "data" / "breast-cancer.csv"
    print(f"Wrote {write_csv(target)} rows to {target}")
