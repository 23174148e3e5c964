//! Placeholder: the hand-written floor of transcription-parallel is being written.
fn main() {}
