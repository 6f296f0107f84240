export { DEFAULT_PKI_DIR, loadCa, loadCaCertificate, pkiDirOption, pkiFiles } from '../../../pki/pki-folder.js';
