#!/usr/bin/env python3
"""Derive replay fixtures from a real lab capture (tapvm --pcap-point guest) by editing the server's frames.

  derive.py nak   lease-ping.pcap nak.pcap
      The DHCPACK becomes a DHCPNAK (option 53 = 6, yiaddr 0); everything after it is dropped (a NAKed client
      never ARPs or pings) and so is the release.
  derive.py renew lease-ping.pcap renew.pcap TAPVM
      The DHCPACK grants 40 s (T1 20 s, T2 35 s); the release is dropped, the run lasts until T1 + 1 s, and the
      server's answer to the client's renewing DHCPREQUEST (xid and time read from a replay, which is
      deterministic) is a copy of the first ACK with that xid and ciaddr, 1 ms after the request.

Each output gets a sidecar (IN's, edited). Checksums (IPv4 header, UDP) are recomputed.
"""
import json, struct, subprocess, sys, tempfile, os

def read_pcap(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    assert magic == 0xa1b23c4d, 'expected a little-endian nanosecond pcap'
    header, frames, offset = data[:24], [], 24
    while offset < len(data):
        sec, frac, caplen, length = struct.unpack('<IIII', data[offset:offset + 16])
        frames.append([sec * 10**9 + frac, bytearray(data[offset + 16:offset + 16 + caplen])])
        offset += 16 + caplen
    return header, frames

def write_pcap(path, header, frames):
    with open(path, 'wb') as f:
        f.write(header)
        for stamp, frame in frames:
            f.write(struct.pack('<IIII', stamp // 10**9, stamp % 10**9, len(frame), len(frame)))
            f.write(frame)
    os.chmod(path, 0o600)

def checksum(data):
    if len(data) % 2: data = data + b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff

def fix_checksums(frame):
    ihl = (frame[14] & 0x0f) * 4
    ip = frame[14:14 + ihl]
    ip[10:12] = b'\0\0'
    frame[24:26] = struct.pack('!H', checksum(bytes(ip)))
    udp = 14 + ihl
    length = struct.unpack('!H', frame[udp + 4:udp + 6])[0]
    frame[udp + 6:udp + 8] = b'\0\0'
    pseudo = bytes(frame[26:34]) + struct.pack('!BBH', 0, 17, length)
    value = checksum(pseudo + bytes(frame[udp:udp + length])) or 0xffff
    frame[udp + 6:udp + 8] = struct.pack('!H', value)

def dhcp_offset(frame):
    if len(frame) < 42 or frame[12:14] != b'\x08\x00' or frame[23] != 17: return None
    udp = 14 + (frame[14] & 0x0f) * 4
    ports = struct.unpack('!HH', frame[udp:udp + 4])
    return udp + 8 if 67 in ports and 68 in ports else None

def options(frame, dhcp):
    """(code, offset of the value, length) for each option."""
    at, found = dhcp + 240, []
    while at < len(frame) and frame[at] != 255:
        if frame[at] == 0: at += 1; continue
        found.append((frame[at], at + 2, frame[at + 1])); at += 2 + frame[at + 1]
    return found

def message_type(frame):
    dhcp = dhcp_offset(frame)
    if dhcp is None: return None
    for code, at, length in options(frame, dhcp):
        if code == 53: return frame[at]
    return None

def set_option(frame, code, value):
    dhcp = dhcp_offset(frame)
    for c, at, length in options(frame, dhcp):
        if c == code:
            assert len(value) == length
            frame[at:at + length] = value

def main():
    mode, source, target = sys.argv[1:4]
    header, frames = read_pcap(source)
    sidecar = json.load(open(source + '.json'))
    mac = bytes.fromhex(sidecar['mac'].replace(':', ''))
    boot = int(sidecar['boot_time'].replace('.', ''))
    ack_index = next(i for i, (_, f) in enumerate(frames) if message_type(f) == 5)
    ack_stamp, ack = frames[ack_index]
    if mode == 'nak':
        set_option(ack, 53, b'\x06')
        dhcp = dhcp_offset(ack)
        ack[dhcp + 16:dhcp + 20] = b'\0\0\0\0'
        fix_checksums(ack)
        frames = frames[:ack_index + 1]
        sidecar['release_ns'] = None
        sidecar['stop_ns'] = ack_stamp - boot + 200_000_000
    elif mode == 'renew':
        set_option(ack, 51, struct.pack('!I', 40))
        set_option(ack, 58, struct.pack('!I', 20))
        set_option(ack, 59, struct.pack('!I', 35))
        fix_checksums(ack)
        frames = [(s, f) for s, f in frames if message_type(f) != 7]   # no release
        sidecar['release_ns'] = None
        sidecar['stop_ns'] = ack_stamp - boot + 21 * 10**9
        write_pcap(target, header, frames)
        json.dump(sidecar, open(target + '.json', 'w'), indent=2, sort_keys=True)
        out = tempfile.mktemp(suffix='.pcap')
        subprocess.run([sys.argv[4], 'replay', target, '--out', out, '--json'], check=True, stdout=subprocess.DEVNULL)
        _, sent = read_pcap(out)
        os.unlink(out)
        renewing = next((s, f) for s, f in sent if message_type(f) == 3 and f[dhcp_offset(f) + 12:dhcp_offset(f) + 16] != b'\0\0\0\0')
        request_stamp, request = renewing
        reply = bytearray(ack)
        dhcp = dhcp_offset(reply)
        reply[dhcp + 4:dhcp + 8] = request[dhcp_offset(request) + 4:dhcp_offset(request) + 8]   # xid
        reply[dhcp + 12:dhcp + 16] = request[dhcp_offset(request) + 12:dhcp_offset(request) + 16]  # ciaddr
        fix_checksums(reply)
        frames.append([request_stamp + 1_000_000, reply])
        sidecar['stop_ns'] = request_stamp + 1_000_000 - boot + 1_000_000_000
    else:
        sys.exit('mode is nak or renew')
    sidecar['files'] = [os.path.basename(target)]
    sidecar['frames'] = len(frames)
    write_pcap(target, header, frames)
    with open(target + '.json', 'w') as f:
        json.dump(sidecar, f, indent=2, sort_keys=True)
    os.chmod(target + '.json', 0o600)

main()
