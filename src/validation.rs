//! Admission validation of custom resources against their CRD schema.
