import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** One HTTP method of API Gateway's management API on the paths the interop provisioner calls it on. */
export interface GatewayGrant {
  readonly sid: string;
  /** `apigateway:<method>`. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Management paths, e.g. `/restapis/*`, turned into `arn:<partition>:apigateway:<region>::<path>`. */
  readonly paths: readonly string[];
}

/**
 * What the API Gateway interop provisioner (functions/lib/interop/api-gateway-*.ts) calls, by HTTP
 * method. REST API, key and usage plan ids are created at run time, so they are matched by path pattern; each
 * method is allowed only on the paths the provisioner uses it on. Base path mappings only on the interop domain.
 */
export function interopGatewayGrants(interopDomainName?: string): GatewayGrant[] {
  const mappings = interopDomainName ? [`/domainnames/${interopDomainName}/basepathmappings`] : [];
  const mapping = mappings.map((m) => `${m}/*`);
  return [
    // GetRestApis, GetDeployment(s), GetStage, GetApiKey(s), GetUsagePlans, GetBasePathMapping.
    {
      sid: 'InteropRead',
      method: 'GET',
      paths: ['/restapis', '/restapis/*', '/apikeys', '/apikeys/*', '/usageplans', '/usageplans/*', ...mapping],
    },
    // CreateRestApi, CreateDeployment, CreateApiKey, CreateUsagePlan, CreateUsagePlanKey, CreateBasePathMapping.
    {
      sid: 'InteropCreate',
      method: 'POST',
      paths: ['/restapis', '/restapis/*/deployments', '/apikeys', '/usageplans', '/usageplans/*/keys', ...mappings],
    },
    // PutRestApi (mode=overwrite); tags given on create are written through the tags resource.
    { sid: 'InteropImport', method: 'PUT', paths: ['/restapis/*', '/tags/*'] },
    // UpdateStage (point the stage at a deployment, or back at the previous one), UpdateUsagePlan.
    { sid: 'InteropUpdate', method: 'PATCH', paths: ['/restapis/*/stages/*', '/usageplans/*'] },
    // DeleteStage (a stage that did not exist before a rolled-back release), DeleteBasePathMapping.
    { sid: 'InteropDelete', method: 'DELETE', paths: ['/restapis/*/stages/*', ...mapping] },
  ];
}

/** The grants as IAM statements for this stack's partition and region. */
export function interopGatewayStatements(scope: Construct, interopDomainName?: string): iam.PolicyStatement[] {
  const { partition, region } = Stack.of(scope);
  return interopGatewayGrants(interopDomainName).map(
    (grant) =>
      new iam.PolicyStatement({
        sid: grant.sid,
        actions: [`apigateway:${grant.method}`],
        resources: grant.paths.map((p) => `arn:${partition}:apigateway:${region}::${p}`),
      }),
  );
}

/**
 * ValidateProduction calls the partner API the way partners do, with Launchway's own validation key, whose value
 * it reads with GetApiKey (includeValue). That one read is all the validate-production function may do on API
 * Gateway.
 */
export const VALIDATION_KEY_READ: GatewayGrant = { sid: 'ValidationKeyRead', method: 'GET', paths: ['/apikeys/*'] };

export function validationKeyReadStatement(scope: Construct): iam.PolicyStatement {
  const { partition, region } = Stack.of(scope);
  return new iam.PolicyStatement({
    sid: VALIDATION_KEY_READ.sid,
    actions: [`apigateway:${VALIDATION_KEY_READ.method}`],
    resources: VALIDATION_KEY_READ.paths.map((p) => `arn:${partition}:apigateway:${region}::${p}`),
  });
}
