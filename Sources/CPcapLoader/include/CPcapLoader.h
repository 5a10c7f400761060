// CPcapLoader: the definitions of the tapvm_pcap_* functions declared in Sources/CPcap/shim.h (import CPcap to
// call them). This target only supplies the object code that loads libpcap with dlopen on first use.
