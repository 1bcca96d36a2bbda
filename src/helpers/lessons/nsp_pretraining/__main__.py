"""``python -m helpers.lessons.nsp_pretraining --out data/mini-bert``: rebuild the shipped mini-BERT (``make mini-bert``)."""

from .training import main

if __name__ == "__main__":
    raise SystemExit(main())
