UNWIND $certificates AS certificate
CREATE (c:NodeCertificate)
SET c = certificate
