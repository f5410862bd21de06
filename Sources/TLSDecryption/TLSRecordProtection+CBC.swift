/// Opening TLS 1.2 CBC records (RFC 5246 §6.2.3.2): an explicit IV, then AES-CBC over the plaintext,
/// its HMAC and the padding (MAC-then-encrypt); or, with encrypt_then_mac negotiated (RFC 7366 §3),
/// the HMAC over the IV and ciphertext after them.

import Crypto
import Foundation
import _CryptoExtras

extension TLSRecordProtection {
    /// The CBC `record` (header, then fragment) opened with `sequence`: its type and plaintext, nil
    /// when its length, padding or MAC is not right. Not constant-time: a passive reader is no oracle.
    func openCBC(record: UnsafeRawBufferPointer, sequence: UInt64) -> (type: UInt8, plaintext: Data)? {
        guard let mac = suite.mac, let macKey else { return nil }
        let blockSize = 16
        let fragment = UnsafeRawBufferPointer(rebasing: record[5...])
        // The encrypted part: IV and at least one block, whole blocks (with encrypt-then-MAC, the MAC after them).
        let encryptedLength = encryptThenMAC ? fragment.count - mac.length : fragment.count
        guard encryptedLength >= 2 * blockSize, encryptedLength % blockSize == 0 else { return nil }
        let type = record[0]
        if encryptThenMAC {
            // MAC(seq_num + type + version + length + IV + ciphertext), length that of IV and ciphertext.
            let code = Self.hmac(
                mac, key: macKey, sequence: sequence, type: type, version: (record[1], record[2]),
                content: UnsafeRawBufferPointer(rebasing: fragment[..<encryptedLength]))
            guard code.elementsEqual(fragment[encryptedLength...]) else { return nil }
        }
        guard let iv = try? AES._CBC.IV(ivBytes: fragment[..<blockSize]),
            // TLS padding is not PKCS#7 (its bytes are the padding length, one more byte than
            // PKCS#7's value): decrypted without swift-crypto removing any, checked here.
            let decrypted = try? AES._CBC.decrypt(
                UnsafeRawBufferPointer(rebasing: fragment[blockSize..<encryptedLength]), using: key, iv: iv, noPadding: true)
        else { return nil }
        let macInside = encryptThenMAC ? 0 : mac.length
        let paddingLength = Int(decrypted[decrypted.endIndex - 1])
        guard decrypted.count >= paddingLength + 1 + macInside else { return nil }
        let contentEnd = decrypted.endIndex - 1 - paddingLength - macInside
        guard decrypted[(decrypted.endIndex - 1 - paddingLength)...].allSatisfy({ Int($0) == paddingLength }) else { return nil }
        let plaintext = decrypted[decrypted.startIndex..<contentEnd]
        if !encryptThenMAC {
            // MAC(seq_num + type + version + length + content), length that of the content.
            let code = plaintext.withUnsafeBytes {
                Self.hmac(mac, key: macKey, sequence: sequence, type: type, version: (record[1], record[2]), content: $0)
            }
            guard code.elementsEqual(decrypted[contentEnd..<(contentEnd + mac.length)]) else { return nil }
        }
        return (type, plaintext)
    }

    /// HMAC(key, seq_num + type + version + length + content) (RFC 5246 §6.2.3.1).
    static func hmac(
        _ mac: TLSMAC, key: SymmetricKey, sequence: UInt64, type: UInt8, version: (UInt8, UInt8), content: UnsafeRawBufferPointer
    ) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 13)
        for i in 0..<8 { header[i] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
        header[8] = type
        header[9] = version.0
        header[10] = version.1
        header[11] = UInt8(content.count >> 8)
        header[12] = UInt8(content.count & 0xff)
        switch mac {
        case .sha1: return code(Insecure.SHA1.self, key, header, content)
        case .sha256: return code(SHA256.self, key, header, content)
        case .sha384: return code(SHA384.self, key, header, content)
        }
    }

    private static func code<H: HashFunction>(_: H.Type, _ key: SymmetricKey, _ header: [UInt8], _ content: UnsafeRawBufferPointer) -> [UInt8] {
        var hmac = HMAC<H>(key: key)
        hmac.update(data: header)
        hmac.update(data: content)
        return Array(hmac.finalize())
    }
}
