"""The citizen's encrypted vault.

Documents (with versions) belong to an account. Each version's bytes are sealed with their own
random data key (DEK) in the streaming format of DESIGN 4.1 and kept in a blob store; the DEK is
wrapped by the owner's key, which is wrapped by the master key of the key store. Uploads are
checked once, at the edge (:mod:`vault.uploads`): size, type by magic bytes, a safe file name.
Deleting a document destroys its wrapped DEKs with the rows (crypto-shredding) and removes the
blobs once the deletion has committed; a blob written by a transaction that rolls back is removed
at once, so a failure at any step leaves neither an orphan blob nor a dangling row.
"""

from vault.errors import DocumentNotFound, UploadRejected, VaultError

__all__ = ["DocumentNotFound", "UploadRejected", "VaultError"]
