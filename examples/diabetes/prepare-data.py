"""Write scikit-learn's diabetes data set (442 patients: age, sex, body mass index, blood pressure and six
blood serum measurements, and a quantitative measure of disease progression one year later) as a
Parquet file, in its original units (not the scaled version scikit-learn loads by default).

Run with the job environment's Python:
    "$(bash images/jobs/scripts/ensure-venv.sh)/bin/python" examples/diabetes/prepare-data.py
The data ships inside the scikit-learn wheel; nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_diabetes


def write_parquet(path: Path) -> int:
    """Columns age, sex, bmi, bp, s1-s6 and progression (the regression target)."""
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return len(frame)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "data" / "diabetes.parquet"
    print(f"Wrote {write_parquet(target)} rows to {target}")
