[
  { name: 'payments', admins: ['alice', 'bob'], quota: { cpu: '20', memory: '64Gi', pods: '200' }, egress: false },
  { name: 'search', admins: ['carol'], quota: { cpu: '8', memory: '32Gi', pods: '100' }, egress: true },
  { name: 'web', admins: [], quota: { cpu: '4', memory: '8Gi', pods: '50' }, egress: true },
]
