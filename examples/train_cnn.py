"""Trains the study notes' CNN on Fashion-MNIST with tinygrad_ko's Keras front.

    python examples/train_cnn.py                       # 3 epochs, batch 128, C backend
    python examples/train_cnn.py --epochs 10 --backend numpy --threads 1 --outdir runs/cnn

Conv2D(32, 3, same, relu) -> MaxPool 2 -> Conv2D(64, 3, same, relu) -> MaxPool 2 -> Flatten ->
Dense(100, relu) -> Dropout(0.3) -> Dense(10, softmax); Adam 1e-3; inputs scaled to [0, 1].
Prints the summary, Keras-style progress, test accuracy and training images/second; saves the
model (reload it with keras.models.load_model) and, when matplotlib is installed, the curves.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_ko as tg  # noqa: E402
from tinygrad_ko import keras  # noqa: E402


def build_model():
    return keras.Sequential([
        keras.layers.Conv2D(32, kernel_size=3, activation="relu", padding="same",
                            input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, kernel_size=3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ])


class TrainingClock(keras.callbacks.Callback):
    """Times the training batches of each epoch, leaving out the validation pass."""

    def on_train_begin(self, logs=None):
        self.seconds, self.images = 0.0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += self.end - self.start


def plot_curves(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no training-curve plot "
              "(pip install 'tinygrad_ko[plot]' to get one)")
        return
    epochs = np.arange(1, len(history.history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key in ((left, "loss"), (right, "accuracy")):
        axis.plot(epochs, history.history[key], "o-", label="train")
        axis.plot(epochs, history.history["val_" + key], "o-", label="test")
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"training curves: {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for our kernels and NumPy's BLAS (default: all cores)")
    parser.add_argument("--backend", choices=["c", "numpy"], default="c")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outdir", default="runs/train_cnn")
    args = parser.parse_args()

    tg.set_backend(args.backend)
    if args.threads:
        tg.set_num_threads(args.threads)
        try:
            from threadpoolctl import threadpool_limits
            threadpool_limits(args.threads)
        except ImportError:
            pass
    tg.manual_seed(args.seed)
    np.random.seed(args.seed)
    info = tg.backend_info()
    print(f"backend {info['backend']}, {info['threads']} threads, SIMD {info.get('simd', '-')}")

    (train_input, train_target), (test_input, test_target) = \
        keras.datasets.fashion_mnist.load_data()
    # uint8 / float32 scalar gives float32 directly: no float64 copy of the data set in memory
    train_scaled = train_input.reshape(-1, 28, 28, 1) / np.float32(255.0)
    test_scaled = test_input.reshape(-1, 28, 28, 1) / np.float32(255.0)

    model = build_model()
    model.summary()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = TrainingClock()
    history = model.fit(train_scaled, train_target, epochs=args.epochs,
                        batch_size=args.batch_size, validation_data=(test_scaled, test_target),
                        callbacks=[clock])
    loss, accuracy = model.evaluate(test_scaled, test_target, batch_size=512, verbose=0)
    images = len(train_scaled) * len(history.epoch)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}) after {len(history.epoch)} epochs")
    print(f"training speed: {images / clock.seconds:,.0f} images/s "
          f"({clock.seconds / len(history.epoch):.1f} s per epoch)")

    os.makedirs(args.outdir, exist_ok=True)
    model_path = os.path.join(args.outdir, "fashion_cnn.tgk")
    model.save(model_path)
    print(f"model: {model_path} (keras.models.load_model reloads it, optimizer state included)")
    plot_curves(history, os.path.join(args.outdir, "training_curves.png"))


if __name__ == "__main__":
    main()
