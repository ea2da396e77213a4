package org.affengine.data;

/**
 * A labelled image collection with random access by index, so feature extraction can stream it in batches and
 * resume at any position. Implementations: {@link FashionMnist}, {@link FolderDataset}.
 */
public interface Dataset {
    /** Which part of a dataset: models train on TRAIN, retrieval is evaluated on TEST. */
    enum Split {
        TRAIN,
        TEST
    }

    String name();

    Split split();

    int size();

    /** Number of classes; labels are 0 .. classes() - 1. */
    int classes();

    LabelledImage get(int index);

    /** The first n items, as a dataset of its own (quick runs, tests); the dataset itself when n is its size. */
    default Dataset first(int n) {
        Dataset all = this;
        if (n < 0 || n > all.size()) {
            throw new IllegalArgumentException("first(" + n + ") of a dataset of " + all.size());
        }
        if (n == all.size()) {
            return this;  // the same dataset, under its own name
        }
        return new Dataset() {
            @Override
            public String name() {
                return all.name() + "-first" + n;
            }

            @Override
            public Split split() {
                return all.split();
            }

            @Override
            public int size() {
                return n;
            }

            @Override
            public int classes() {
                return all.classes();
            }

            @Override
            public LabelledImage get(int index) {
                if (index < 0 || index >= n) {
                    throw new IndexOutOfBoundsException("index " + index + " outside [0, " + n + ")");
                }
                return all.get(index);
            }
        };
    }
}
