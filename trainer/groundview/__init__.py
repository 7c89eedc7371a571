"""Groundview trainer: terrain/scene classifiers, landscape generator and satellite encoder."""
