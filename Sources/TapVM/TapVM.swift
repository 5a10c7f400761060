// TapVM: placeholder until its first file lands.
