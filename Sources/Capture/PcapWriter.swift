// Capture: pcap writer and reader (libpcap).
