import { Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** Custom domain names for the approval links and the partner-facing interop APIs. */
export interface ReleasePipelineDomainProps {
  /**
   * Host of the approval links, e.g. `approvals.example.com`. The approval API is mapped at the root, so links read
   * `https://<approvalDomainName>/approvals/<id>`, and its execute-api endpoint is switched off.
   * @default - links use the approval API's execute-api URL
   */
  readonly approvalDomainName?: string;

  /**
   * Host partners call, e.g. `api.example.com`. The interop provisioner maps each service's REST API under
   * `https://<interopDomainName>/<service>` (INTEROP_DOMAIN_NAME); this construct creates the domain only.
   * @default - partners call each REST API's execute-api URL
   */
  readonly interopDomainName?: string;

  /**
   * An ACM certificate in this stack's region covering every domain name given here (one certificate with both
   * names, or a wildcard). Regional API Gateway endpoints need it in the same region.
   */
  readonly certificate: acm.ICertificate;

  /**
   * The public hosted zone the names live in. When given, an alias A record is created for each name; without it,
   * point DNS at the `regionalDomainName` of each domain yourself.
   * @default - no DNS records
   */
  readonly hostedZone?: route53.IHostedZone;
}

/** A DNS host name: labels of letters, digits and inner dashes, at least two labels, no scheme, path or port. */
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/**
 * Checks the domain props before anything is created, so a mistake fails synth with the field at fault. Throws
 * when neither name is given, a name is not a plain host name, both names are the same, or a name lies outside
 * the hosted zone.
 */
export function validateDomainProps(domain: ReleasePipelineDomainProps, where: string): void {
  const names = { approvalDomainName: domain.approvalDomainName, interopDomainName: domain.interopDomainName };
  if (!names.approvalDomainName && !names.interopDomainName) {
    throw new Error(`${where}: domain needs approvalDomainName, interopDomainName or both`);
  }
  for (const [field, name] of Object.entries(names)) {
    if (name === undefined) continue;
    if (Token.isUnresolved(name) || !HOSTNAME.test(name)) {
      throw new Error(`${where}: domain.${field} expected a lowercase host name such as approvals.example.com, got "${name}"`);
    }
  }
  if (names.approvalDomainName && names.approvalDomainName === names.interopDomainName) {
    throw new Error(
      `${where}: domain.approvalDomainName and domain.interopDomainName are both "${names.approvalDomainName}"; the approval API is mapped at the root of its domain, so they must differ`,
    );
  }
  const zoneName = domain.hostedZone?.zoneName;
  if (zoneName && !Token.isUnresolved(zoneName)) {
    const zone = zoneName.replace(/\.$/, '');
    for (const [field, name] of Object.entries(names)) {
      if (name && name !== zone && !name.endsWith(`.${zone}`)) {
        throw new Error(`${where}: domain.${field} "${name}" is not in the hosted zone ${zone}`);
      }
    }
  }
}

/** Props of ApiDomains. */
export interface ApiDomainsProps extends ReleasePipelineDomainProps {
  /** The approval API to map at the root of `approvalDomainName`. */
  readonly approvalApi: apigw.RestApi;
}

/**
 * The API Gateway custom domains of a ReleasePipeline: the approval domain with its root base path mapping, the
 * interop domain (mappings are the provisioner's), TLS 1.2, and alias records when a hosted zone is given.
 */
export class ApiDomains extends Construct {
  /** The approval links' domain, when `approvalDomainName` was given. */
  readonly approvalDomain?: apigw.DomainName;
  /** The interop APIs' domain, when `interopDomainName` was given. */
  readonly interopDomain?: apigw.DomainName;
  /** `https://<approvalDomainName>`, the APPROVAL_BASE_URL of the approval functions, when there is one. */
  readonly approvalBaseUrl?: string;
  /** The interop host name (INTEROP_DOMAIN_NAME), when there is one. */
  readonly interopDomainName?: string;

  constructor(scope: Construct, id: string, props: ApiDomainsProps) {
    super(scope, id);
    const domainOf = (domainId: string, domainName: string) => {
      const domain = new apigw.DomainName(this, domainId, {
        domainName,
        certificate: props.certificate,
        endpointType: apigw.EndpointType.REGIONAL,
        securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      });
      if (props.hostedZone) {
        new route53.ARecord(this, `${domainId}Alias`, {
          zone: props.hostedZone,
          recordName: domainName,
          target: route53.RecordTarget.fromAlias(new targets.ApiGatewayDomain(domain)),
        });
      }
      return domain;
    };

    if (props.approvalDomainName) {
      this.approvalDomain = domainOf('ApprovalDomain', props.approvalDomainName);
      // At the root, so the link path is the API's own resource path and the confirmation form posts back to it.
      new apigw.BasePathMapping(this, 'ApprovalBasePath', {
        domainName: this.approvalDomain,
        restApi: props.approvalApi,
        stage: props.approvalApi.deploymentStage,
      });
      this.approvalBaseUrl = `https://${props.approvalDomainName}`;
    }
    if (props.interopDomainName) {
      this.interopDomain = domainOf('InteropDomain', props.interopDomainName);
      this.interopDomainName = props.interopDomainName;
    }
  }
}
