package org.affengine.data;

/** One item of a dataset: a stable id, its class label and its pixels. */
public record LabelledImage(String id, int label, RawImage image) {}
