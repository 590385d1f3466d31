import { MOTO_REGION } from '../../support/moto-server';

/**
 * A VPC, a subnet and a security group on moto, over EC2's query protocol (the project has no EC2 SDK
 * client): moto's ECS checks that the subnets and security groups of awsvpc tasks exist, as AWS does.
 */
export const createMotoNetwork = async (
  endpoint: string,
): Promise<{ subnet: string; securityGroup: string }> => {
  const vpc = idIn(await ec2(endpoint, { Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' }), 'vpcId');
  // Fargate VPCs resolve hostnames; moto 5.2.5 also fails RunTask on an awsvpc task without them.
  await ec2(endpoint, { Action: 'ModifyVpcAttribute', VpcId: vpc, 'EnableDnsHostnames.Value': 'true' });
  const subnet = idIn(
    await ec2(endpoint, { Action: 'CreateSubnet', VpcId: vpc, CidrBlock: '10.0.1.0/24' }),
    'subnetId',
  );
  const securityGroup = idIn(
    await ec2(endpoint, {
      Action: 'CreateSecurityGroup',
      GroupName: 'tradai-strategy',
      GroupDescription: 'strategy tasks',
      VpcId: vpc,
    }),
    'groupId',
  );
  return { subnet, securityGroup };
};

const idIn = (xml: string, element: string): string => {
  const id = new RegExp(`<${element}>([^<]+)</${element}>`).exec(xml)?.[1];
  if (id === undefined) throw new Error(`moto EC2 answered without ${element}: ${xml.slice(0, 300)}`);
  return id;
};

const ec2 = async (endpoint: string, parameters: Record<string, string>): Promise<string> => {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${MOTO_REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ ...parameters, Version: '2016-11-15' }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`EC2 ${parameters.Action} answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
};
