import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { changeStationAuthMode, issueStationCredentials, revokeStationCredential, setStationCredential } from '../../../operations/station-credentials.js';
import { pkiDirOption } from '../../../pki/pki-folder.js';
import { AuthModeSet, CredentialSet, CredentialSetResult, Issued, IssueRequest, Revoked, RevokeRequest } from '../action-schemas.js';
import { issuedJson } from '../action-views.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { fileParam } from '../file-param.js';
import { errorResponses } from '../responses.js';
import { EuiParams } from '../schemas.js';
import { authJson, StationAuthBody } from './station-actions.js';

const CATEGORIES = { cups: ['cups'], tc: ['tc'], both: ['cups', 'tc'] } as const;

/** Station credentials: set by hand, issue, revoke, auth mode. Thin adapters over operations/station-credentials.ts. */
export function registerStationCredentialRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['stations'];
  const pkiDir = deps.pkiDir ?? pkiDirOption(undefined);

  api.put('/stations/:eui/credentials', {
    schema: {
      tags,
      summary:
        "Set the CUPS or TC credential the station should hold, from the operator's files; sent on its next request. " +
        "A CUPS credential this server would refuse (client certificate not from its station CA, or for another station) or whose trust does not verify this server is refused unless force",
      params: EuiParams,
      body: CredentialSet,
      response: { 200: CredentialSetResult, ...errorResponses },
    },
  }, async (req) => {
    const b = req.body;
    return setStationCredential(contextOf(req, deps), {
      eui: req.params.eui,
      category: b.category,
      trust: fileParam(b.trust, 'trust'),
      cert: b.cert === undefined ? null : fileParam(b.cert, 'cert'),
      key: b.key === undefined ? null : fileParam(b.key, 'key'),
      token: b.token ?? null,
    }, { pkiDir, force: b.force === true });
  });

  for (const [path, kind] of [['issue-cert', 'certificate'], ['issue-token', 'token']] as const) {
    api.post(`/stations/:eui/${path}`, {
      schema: {
        tags,
        summary:
          kind === 'certificate'
            ? "Issue a client certificate from the server's station CA and make it the desired credential"
            : 'Issue a random token and make it the desired credential; the answer holds it, shown once, only its hash is stored',
        params: EuiParams,
        body: IssueRequest,
        response: { 200: Issued, ...errorResponses },
      },
    }, async (req) => {
      const r = await issueStationCredentials(contextOf(req, deps), {
        eui: req.params.eui,
        kind,
        categories: CATEGORIES[req.body.for],
        ...(req.body.tcTrust === undefined ? {} : { tcTrust: fileParam(req.body.tcTrust, 'tcTrust') }),
        pkiDir,
        ...(req.body.validDays === undefined ? {} : { validDays: req.body.validDays }),
      });
      return issuedJson(r, req.body.files === true);
    });
  }

  api.post('/stations/:eui/revoke', {
    schema: {
      tags,
      summary: "Retire a certificate or token at once; refused without force for what the station uses or its only usable credential",
      params: EuiParams,
      body: RevokeRequest,
      response: { 200: Revoked, ...errorResponses },
    },
  }, async (req) => revokeStationCredential(contextOf(req, deps), { eui: req.params.eui, ...req.body }));

  api.put('/stations/:eui/auth', {
    schema: { tags, summary: 'Set how the station authenticates: mtls, token or none', params: EuiParams, body: AuthModeSet, response: { 200: StationAuthBody, ...errorResponses } },
  }, async (req) => authJson(await changeStationAuthMode(contextOf(req, deps), req.params.eui, req.body.mode, req.body.force === true)));

}
