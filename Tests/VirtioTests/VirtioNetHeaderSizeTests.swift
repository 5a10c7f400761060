import Testing
import Virtio
import Wire

/// One `VirtioNetHeader` type (Wire's), with the feature-dependent size added by Virtio: importing both modules
/// must not make the name ambiguous.
@Suite struct VirtioNetHeaderSizeTests {
    @Test func sizeFollowsTheNegotiatedFeatures() {
        #expect(VirtioNetHeader.size(for: []) == VirtioNetHeader.legacySize)
        #expect(VirtioNetHeader.size(for: [.netMAC, .netStatus]) == 10)
        #expect(VirtioNetHeader.size(for: [.version1]) == 12)
        #expect(VirtioNetHeader.size(for: [.netMergeableReceiveBuffers]) == 12)
        #expect(VirtioNetHeader(numBuffers: 1).encodedLength(size: VirtioNetHeader.size(for: [.version1])) == 12)
    }
}
