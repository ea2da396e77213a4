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
}
