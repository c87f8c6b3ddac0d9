"""Fashion-MNIST and MNIST: `load_data()` with Keras's shapes and dtypes, from disk or a download.

    >>> from tinygrad_ko.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    >>> x_train.shape, x_train.dtype, y_train.shape      # ((60000, 28, 28), uint8, (60000,))

Where the four IDX files (`train-images-idx3-ubyte.gz`, ...; gzipped or not) are looked for:
  1. `load_data(path=DIR)`: DIR must hold them (an explicit path that lacks them is an error);
  2. `$TINYGRAD_KO_DATA/<name>/` (`TINYGRAD_KO_DATA=/usr/share/datasets` fits Debian's layout);
  3. `/usr/share/datasets/<name>/` (Debian's `dataset-fashion-mnist` package installs there);
  4. the per-user cache `$XDG_CACHE_HOME/tinygrad_ko/<name>/` (default `~/.cache/...`);
  5. failing all of these, the official files are downloaded into the cache. Each download
     streams into a temporary file beside its destination, is checked against its published
     SHA-256, and only then renamed into place: an interrupted or corrupted download never leaves
     a file that looks valid.
Every file is parsed strictly (gzip's CRC, IDX magic, rank, dimensions, exact payload size, labels
in range): a truncated or corrupt file raises CorruptDataError naming the file, never garbage.
"""
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib

import numpy as np

__all__ = ["CorruptDataError", "DataUnavailableError", "IdxDataset", "fashion_mnist", "mnist",
           "read_idx", "to_categorical"]

SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IDX_UBYTE = 0x08
DOWNLOAD_CHUNK = 1 << 16


class CorruptDataError(ValueError):
    """A data file exists but is truncated, corrupt, or does not match its checksum."""


class DataUnavailableError(FileNotFoundError):
    """The data set is neither on disk nor downloadable; the message says how to get it."""


# ---- labels ----

def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encodes integer class labels, as Keras does: the class axis is appended last.

        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.], [0., 0., 1.], [0., 1., 0.]], dtype=float32)

    A trailing axis of size 1 (labels shaped (N, 1)) is replaced by the class axis; `num_classes`
    defaults to max(y) + 1. Labels outside 0..num_classes-1 raise ValueError.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise ValueError("to_categorical: labels must be integers, got non-integral floats")
    y = y.astype(np.int64)
    shape = y.shape[:-1] if y.ndim > 1 and y.shape[-1] == 1 else y.shape
    y = y.ravel()
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must lie in 0..{num_classes - 1}, "
                         f"got values from {y.min()} to {y.max()}")
    categorical = np.zeros((y.size, num_classes), dtype=dtype)
    categorical[np.arange(y.size), y] = 1
    return categorical.reshape(shape + (num_classes,))


# ---- IDX parsing ----

def read_idx(path, ndim):
    """Reads one IDX file of unsigned bytes (gzipped when the name ends in .gz) into a uint8 array.

    Raises CorruptDataError if the magic number, rank or payload size is wrong, or gzip's CRC fails.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            header = _read_exactly(f, 4, path, "magic number")
            if header[0] != 0 or header[1] != 0 or header[2] != IDX_UBYTE:
                raise CorruptDataError(f"{path}: not an IDX file of unsigned bytes "
                                       f"(magic {header.hex()}, expected 000008{ndim:02x})")
            if header[3] != ndim:
                raise CorruptDataError(f"{path}: IDX rank {header[3]}, expected {ndim}")
            raw_dims = _read_exactly(f, 4 * ndim, path, "dimensions")
            dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
            array = np.empty(dims, dtype=np.uint8)
            view = memoryview(array.reshape(-1))
            got = 0
            while got < array.size:
                n = f.readinto(view[got:])
                if not n:
                    raise CorruptDataError(f"{path}: truncated: {got} of {array.size} data bytes "
                                           f"for shape {dims}")
                got += n
            if f.read(1):
                raise CorruptDataError(f"{path}: trailing bytes after the {dims} payload")
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise CorruptDataError(f"{path}: corrupt or truncated gzip stream ({e})") from e
    return array


def _read_exactly(f, n, path, what):
    data = f.read(n)
    if len(data) != n:
        raise CorruptDataError(f"{path}: truncated inside the IDX header ({what})")
    return data


# ---- data sets ----

class IdxDataset:
    """An MNIST-format data set: four IDX files, their published SHA-256s, a download URL.

    `base_url` is an attribute so that tests (or a mirror) can point downloads elsewhere.
    """

    def __init__(self, name, base_url, sha256, num_classes=10, image_shape=(28, 28),
                 system_dirs=("/usr/share/datasets",)):
        self.name, self.base_url, self.sha256 = name, base_url, dict(sha256)
        self.num_classes, self.image_shape, self.system_dirs = num_classes, image_shape, system_dirs

    def load_data(self, path=None):
        """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28), uint8 labels (N,)."""
        directory = self.locate(path)
        return tuple(self._load_split(directory, split) for split in ("train", "test"))

    # -- where the files are --

    def locate(self, path=None):
        """The directory to read from, downloading into the cache when no local copy exists."""
        if path is not None:
            path = os.fspath(path)
            missing = [stem for stem in self._stems() if self._file_in(path, stem) is None]
            if missing:
                raise DataUnavailableError(f"{self.name}: path={path!r} lacks {', '.join(missing)} "
                                           f"(.gz or uncompressed)")
            return path
        for directory in self.search_dirs():
            if all(self._file_in(directory, stem) for stem in self._stems()):
                return directory
        return self.download(self.cache_dir())

    def search_dirs(self):
        """Local directories tried in order (after an explicit path=, before downloading)."""
        dirs = []
        if os.environ.get("TINYGRAD_KO_DATA"):
            dirs.append(os.path.join(os.environ["TINYGRAD_KO_DATA"], self.name))
        dirs.extend(os.path.join(d, self.name) for d in self.system_dirs)
        dirs.append(self.cache_dir())
        return dirs

    def cache_dir(self):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "tinygrad_ko", self.name)

    def _stems(self):
        return [stem for pair in SPLIT_FILES.values() for stem in pair]

    @staticmethod
    def _file_in(directory, stem):
        for candidate in (stem + ".gz", stem):
            full = os.path.join(directory, candidate)
            if os.path.isfile(full):
                return full
        return None

    # -- downloading --

    def download(self, directory):
        """Fetches every missing .gz file into `directory`, verified and atomically."""
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            raise DataUnavailableError(
                self._how_to_get(f"cannot create the cache {directory}: {e}")) from e
        for stem in self._stems():
            if self._file_in(directory, stem) is None:
                self._fetch(stem + ".gz", directory)
        return directory

    def _fetch(self, filename, directory):
        url = self.base_url.rstrip("/") + "/" + filename
        if filename not in self.sha256:
            raise DataUnavailableError(self._how_to_get(f"no published SHA-256 for {filename}, "
                                                        f"so it is not downloaded unverified"))
        destination = os.path.join(directory, filename)
        fd, partial = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # the mode a plain open() would give, not mkstemp's 0600
        try:
            with os.fdopen(fd, "wb") as out:
                digest = self._stream(url, out)
            expected = self.sha256[filename]
            if digest != expected:
                raise CorruptDataError(f"{url}: SHA-256 mismatch (got {digest}, expected "
                                       f"{expected}); the download was discarded")
            os.replace(partial, destination)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            raise DataUnavailableError(
                self._how_to_get(f"downloading {url} failed: {e}")) from e
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    @staticmethod
    def _stream(url, out):
        """Copies url into the open file `out`, with progress on stderr; returns the SHA-256."""
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            interactive = sys.stderr.isatty()
            print(f"Downloading {url}", file=sys.stderr, flush=True)
            while True:
                chunk = response.read(DOWNLOAD_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if interactive:
                    size = f"{done / 1e6:.1f}" + (f"/{total / 1e6:.1f}" if total else "") + " MB"
                    print(f"\r  {size}", end="", file=sys.stderr, flush=True)
            if total and done != total:
                raise CorruptDataError(f"{url}: connection closed after {done} of {total} bytes")
            print(("\n" if interactive else "") + f"  {done} bytes", file=sys.stderr, flush=True)
        return digest.hexdigest()

    def _how_to_get(self, reason):
        return (f"{self.name} is not available: {reason}.\n"
                f"Get it one of these ways:\n"
                f"  - on Debian/Ubuntu: sudo apt-get install dataset-{self.name}"
                f"   (installs /usr/share/datasets/{self.name}/)\n"
                f"  - put the four files ({', '.join(s + '.gz' for s in self._stems())}) in "
                f"a directory DIR/{self.name}/ and set TINYGRAD_KO_DATA=DIR\n"
                f"  - or pass load_data(path=DIR_WITH_THE_FILES)\n"
                f"  - or retry with network access: they are downloaded from {self.base_url} into "
                f"{self.cache_dir()}")

    # -- reading --

    def _load_split(self, directory, split):
        image_stem, label_stem = SPLIT_FILES[split]
        images_path = self._file_in(directory, image_stem)
        labels_path = self._file_in(directory, label_stem)
        images = read_idx(images_path, ndim=1 + len(self.image_shape))
        labels = read_idx(labels_path, ndim=1)
        if images.shape[1:] != self.image_shape:
            raise CorruptDataError(f"{images_path}: images of shape {images.shape[1:]}, "
                                   f"expected {self.image_shape}")
        if len(images) != len(labels):
            raise CorruptDataError(f"{directory}: {len(images)} {split} images but "
                                   f"{len(labels)} labels")
        if labels.size and labels.max() >= self.num_classes:
            raise CorruptDataError(f"{labels_path}: label {labels.max()} outside "
                                   f"0..{self.num_classes - 1}")
        return images, labels


fashion_mnist = IdxDataset(
    "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    {"train-images-idx3-ubyte.gz":
         "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
     "train-labels-idx1-ubyte.gz":
         "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
     "t10k-images-idx3-ubyte.gz":
         "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
     "t10k-labels-idx1-ubyte.gz":
         "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"})

mnist = IdxDataset(
    "mnist", "https://storage.googleapis.com/cvdf-datasets/mnist/",
    {"train-images-idx3-ubyte.gz":
         "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
     "train-labels-idx1-ubyte.gz":
         "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
     "t10k-images-idx3-ubyte.gz":
         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
     "t10k-labels-idx1-ubyte.gz":
         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"})
