// Loads libpcap on first use and forwards tapvm_pcap_* to it (declarations and rationale: ../CPcap/shim.h).
#include "../CPcap/shim.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TAPVM_PCAP_FUNCTIONS(X) \
    X(pcap_open_offline_with_tstamp_precision) \
    X(pcap_open_dead_with_tstamp_precision) \
    X(pcap_datalink) \
    X(pcap_datalink_val_to_name) \
    X(pcap_snapshot) \
    X(pcap_next_ex) \
    X(pcap_geterr) \
    X(pcap_close) \
    X(pcap_dump_fopen) \
    X(pcap_dump) \
    X(pcap_dump_flush) \
    X(pcap_dump_close)

// One pointer per function, typed after libpcap's own declaration.
#define TAPVM_POINTER(name) static __typeof__(&name) real_##name;
TAPVM_PCAP_FUNCTIONS(TAPVM_POINTER)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_failure[256];

static void load(void) {
    static const char *const names[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) {
        snprintf(load_failure, sizeof load_failure, "libpcap is not installed (%s); install it (apt install libpcap0.8)",
                 dlerror());
        return;
    }
#define TAPVM_RESOLVE(name) \
    if ((real_##name = (__typeof__(&name))dlsym(library, #name)) == NULL) { \
        snprintf(load_failure, sizeof load_failure, "libpcap lacks %s; it is too old (need 1.5 or later)", #name); \
        return; \
    }
    TAPVM_PCAP_FUNCTIONS(TAPVM_RESOLVE)
}

int tapvm_pcap_load(char *reason, unsigned long capacity) {
    pthread_once(&load_once, load);
    if (load_failure[0] == '\0') return 0;
    if (reason != NULL && capacity > 0) snprintf(reason, capacity, "%s", load_failure);
    return -1;
}

pcap_t *tapvm_pcap_open_offline_with_tstamp_precision(const char *path, u_int precision, char *errbuf) {
    return real_pcap_open_offline_with_tstamp_precision(path, precision, errbuf);
}
pcap_t *tapvm_pcap_open_dead_with_tstamp_precision(int linktype, int snaplen, u_int precision) {
    return real_pcap_open_dead_with_tstamp_precision(linktype, snaplen, precision);
}
int tapvm_pcap_datalink(pcap_t *pcap) { return real_pcap_datalink(pcap); }
const char *tapvm_pcap_datalink_val_to_name(int dlt) { return real_pcap_datalink_val_to_name(dlt); }
int tapvm_pcap_snapshot(pcap_t *pcap) { return real_pcap_snapshot(pcap); }
int tapvm_pcap_next_ex(pcap_t *pcap, struct pcap_pkthdr **header, const u_char **data) {
    return real_pcap_next_ex(pcap, header, data);
}
char *tapvm_pcap_geterr(pcap_t *pcap) { return real_pcap_geterr(pcap); }
void tapvm_pcap_close(pcap_t *pcap) { real_pcap_close(pcap); }
pcap_dumper_t *tapvm_pcap_dump_fopen(pcap_t *pcap, FILE *file) { return real_pcap_dump_fopen(pcap, file); }
void tapvm_pcap_dump(u_char *user, const struct pcap_pkthdr *header, const u_char *data) {
    real_pcap_dump(user, header, data);
}
int tapvm_pcap_dump_flush(pcap_dumper_t *dumper) { return real_pcap_dump_flush(dumper); }
void tapvm_pcap_dump_close(pcap_dumper_t *dumper) { real_pcap_dump_close(dumper); }
