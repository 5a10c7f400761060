#include <pcap/pcap.h>

// libpcap is loaded on first use (dlopen), not when tapvm starts: only --pcap and replay need it, and loading it
// at start-up pulls in dbus, systemd and gcrypt (about 1 ms of every `tapvm run`). The module therefore does not
// link libpcap; Swift calls these tapvm_pcap_* functions (defined in Sources/CPcapLoader), which forward to
// libpcap's function of the same name without the prefix. Calling a pcap_* function directly fails to link.

/// Loads libpcap (libpcap.so.0.8, then libpcap.so.1, then libpcap.so) and resolves every function below; done
/// once, thread-safe. Returns 0 on success, or -1 with a one-line reason (dlerror's) in `reason` (NUL-terminated,
/// cut to `capacity`). Every tapvm_pcap_* function requires a prior successful call.
int tapvm_pcap_load(char *reason, unsigned long capacity);

pcap_t *tapvm_pcap_open_offline_with_tstamp_precision(const char *path, u_int precision, char *errbuf);
pcap_t *tapvm_pcap_open_dead_with_tstamp_precision(int linktype, int snaplen, u_int precision);
int tapvm_pcap_datalink(pcap_t *pcap);
const char *tapvm_pcap_datalink_val_to_name(int dlt);
int tapvm_pcap_snapshot(pcap_t *pcap);
int tapvm_pcap_next_ex(pcap_t *pcap, struct pcap_pkthdr **header, const u_char **data);
char *tapvm_pcap_geterr(pcap_t *pcap);
void tapvm_pcap_close(pcap_t *pcap);
pcap_dumper_t *tapvm_pcap_dump_fopen(pcap_t *pcap, FILE *file);
void tapvm_pcap_dump(u_char *user, const struct pcap_pkthdr *header, const u_char *data);
int tapvm_pcap_dump_flush(pcap_dumper_t *dumper);
void tapvm_pcap_dump_close(pcap_dumper_t *dumper);
