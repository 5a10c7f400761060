// Guest: placeholder until its first file lands.
