"""Real images a package ships, written as an image folder for the trainer.

The scenarios need a real, labelled image dataset with no download: scikit-learn
ships the UCI handwritten digits (1,797 greyscale 8x8 scans of 10 digits, in the
package's own data files). ``write_digits_folder`` writes them as
``ROOT/<digit>/<index>.png``, the layout ``hjepa-train --set data.source=folder``
reads, upscaled (nearest) so that one scanned pixel is one 6-pixel patch of the demo.
"""

import os

import numpy as np

DIGITS_SIDE = 48  # the tiny demo's img_size: 8 scanned pixels x 6-pixel patches


def write_digits_folder(root: str) -> str:
    """Write scikit-learn's digits under ``root`` (once); returns ``root``.

    Raises:
      ImportError: scikit-learn is not installed (``pip install scikit-learn``).
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    done = os.path.join(root, ".complete")
    if os.path.exists(done):
        return root
    digits = load_digits()
    scale = DIGITS_SIDE // digits.images.shape[1]
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = os.path.join(root, str(int(label)))
        os.makedirs(folder, exist_ok=True)
        grey = np.clip(image * (255.0 / 16.0), 0, 255).astype(np.uint8)  # values 0..16
        big = np.kron(grey, np.ones((scale, scale), dtype=np.uint8))
        Image.fromarray(big, mode="L").convert("RGB").save(os.path.join(folder, "%04d.png" % index))
    open(done, "w").close()
    return root
