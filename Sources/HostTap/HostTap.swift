// HostTap: placeholder until its first file lands.
